import { describe, expect, it } from 'vitest';
import { ArchiveRepo } from './archive.js';
import { ControlRepo } from './control.js';
import { DatasetsRepo } from './datasets.js';
import { FilesRepo } from './files.js';
import { JobsRepo } from './jobs.js';
import { REPOSITORY_OPERATIONS } from './operations.js';
import { PilotsRepo } from './pilots.js';
import { TABLE_SPECS, type TableKey } from './tables.js';
import { TasksRepo } from './tasks.js';

const REPOSITORY_CLASSES: Record<keyof typeof REPOSITORY_OPERATIONS, { prototype: object }> = {
  tasks: TasksRepo,
  jobs: JobsRepo,
  files: FilesRepo,
  datasets: DatasetsRepo,
  pilots: PilotsRepo,
  control: ControlRepo,
  archive: ArchiveRepo,
};

describe('the DynamoDB operations of the repositories', () => {
  it.each(Object.entries(REPOSITORY_CLASSES))(
    'list every public method of the %s repository',
    (key, repository) => {
      const methods = Object.getOwnPropertyNames(repository.prototype).filter(
        (name) => name !== 'constructor',
      );
      expect(Object.keys(REPOSITORY_OPERATIONS[key as keyof typeof REPOSITORY_OPERATIONS]).sort()).toEqual(
        methods.sort(),
      );
    },
  );

  it('name only tables and indexes that exist', () => {
    for (const [repository, methods] of Object.entries(REPOSITORY_OPERATIONS)) {
      for (const [method, operations] of Object.entries(methods)) {
        for (const operation of operations) {
          const [target = ''] = operation.split(':');
          const [table, index] = target.split('/') as [TableKey, string | undefined];
          const spec = TABLE_SPECS[table];
          expect(spec, `${repository}.${method}: ${operation}`).toBeDefined();
          if (index !== undefined) {
            expect(
              spec.globalIndexes.map((each) => each.indexName as string),
              `${repository}.${method}: ${operation}`,
            ).toContain(index);
          }
        }
      }
    }
  });
});
