import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that spend minutes mostly waiting, started before the rest of their project so the other
 * files run beside them. The restart scenario waits out the status queue's 180 s visibility
 * timeout whenever the kill strands a received batch; started last (vitest starts larger files
 * first on a fresh clone), it ran alone after the rest and added those minutes to the suite.
 */
const START_FIRST = ['test/e2e/restart.e2e.test.ts'];

function startsFirst(spec: TestSpecification): boolean {
  return START_FIRST.some((path) => spec.moduleId.endsWith(path));
}

/** vitest's order (projects one after another, larger or slower files first), with START_FIRST leading its project. */
export class WaitingScenariosFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const projects = [...new Set(sorted.map((spec) => spec.project.name))];
    return projects.flatMap((name) => {
      const ofProject = sorted.filter((spec) => spec.project.name === name);
      return [...ofProject.filter(startsFirst), ...ofProject.filter((spec) => !startsFirst(spec))];
    });
  }
}
