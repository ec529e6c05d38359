/**
 * What a function's code can reach, found with the TypeScript type checker: the repository
 * methods it can call and the AWS SDK commands it can build. The grant tests compare these
 * with the grants the stack gives, so a function cannot gain a call its role does not allow
 * (or keep a grant no code uses) without a test failing.
 *
 * Reachability is by reference, over-approximating calls: starting from the handler module,
 * every function, method, class or variable of the project that reachable code names is
 * reachable, and its whole body is read in turn. Repository classes are not entered: a
 * repository method is recorded as called, and what it does in DynamoDB is listed in
 * shared/repositories/operations.ts.
 */
import path from 'node:path';
import ts from 'typescript';

export interface ReachableCalls {
  /** `<repository key>.<method>`, e.g. `tasks.get`. */
  repositoryMethods: Set<string>;
  /** `<client package>:<command>`, e.g. `client-sqs:SendMessageBatch`. */
  sdkCommands: Set<string>;
}

/** Each repository class by the key it has in `Repositories`. */
const REPOSITORY_CLASSES: Record<string, string> = {
  TasksRepo: 'tasks',
  JobsRepo: 'jobs',
  FilesRepo: 'files',
  DatasetsRepo: 'datasets',
  PilotsRepo: 'pilots',
  ControlRepo: 'control',
  ArchiveRepo: 'archive',
};

const SDK_CLIENT = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+|lib-dynamodb)\//;

/** A program over the handler modules of `functionNames`, with the project's compiler options. */
export function functionsProgram(projectRoot: string, functionNames: readonly string[]): ts.Program {
  const configPath = path.join(projectRoot, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, projectRoot);
  const roots = functionNames.map((name) => path.join(projectRoot, 'functions', name, 'index.ts'));
  return ts.createProgram(roots, { ...options, noEmit: true });
}

function isProjectSource(file: ts.SourceFile, projectRoot: string): boolean {
  return (
    file.fileName.startsWith(projectRoot) &&
    !file.fileName.includes('/node_modules/') &&
    !file.isDeclarationFile &&
    !/\.(int\.|e2e\.)?test\.ts$/.test(file.fileName)
  );
}

function repositoryMethodOf(declaration: ts.Declaration): string | undefined {
  if (!ts.isMethodDeclaration(declaration) || !ts.isClassDeclaration(declaration.parent)) return undefined;
  const repository = REPOSITORY_CLASSES[declaration.parent.name?.text ?? ''];
  if (repository === undefined || !ts.isIdentifier(declaration.name)) return undefined;
  return `${repository}.${declaration.name.text}`;
}

function isRepositoryClass(declaration: ts.Declaration): boolean {
  return ts.isClassDeclaration(declaration) && (declaration.name?.text ?? '') in REPOSITORY_CLASSES;
}

/** The repository methods and SDK commands reachable from `functions/<name>/index.ts`. */
export function reachableCalls(
  program: ts.Program,
  projectRoot: string,
  functionName: string,
): ReachableCalls {
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(path.join(projectRoot, 'functions', functionName, 'index.ts'));
  if (!entry) throw new Error(`no handler module for ${functionName}`);
  const found: ReachableCalls = { repositoryMethods: new Set(), sdkCommands: new Set() };
  const visited = new Set<ts.Node>();
  const pending: ts.Node[] = [entry];

  const follow = (declaration: ts.Declaration) => {
    const method = repositoryMethodOf(declaration);
    if (method !== undefined) {
      found.repositoryMethods.add(method);
      return;
    }
    if (isRepositoryClass(declaration)) return;
    const file = declaration.getSourceFile();
    const client = SDK_CLIENT.exec(file.fileName);
    if (client && ts.isClassDeclaration(declaration) && declaration.name?.text.endsWith('Command')) {
      found.sdkCommands.add(`${client[1]}:${declaration.name.text.replace(/Command$/, '')}`);
      return;
    }
    if (!isProjectSource(file, projectRoot) || visited.has(declaration)) return;
    // A variable's initializer or a function's body: the declaration node holds both.
    pending.push(declaration);
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isTypeNode(node)) return;
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) {
      let symbol = checker.getSymbolAtLocation(node);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      for (const declaration of symbol?.declarations ?? []) follow(declaration);
      return;
    }
    ts.forEachChild(node, visit);
  };

  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (visited.has(node)) continue;
    visited.add(node);
    ts.forEachChild(node, visit);
  }
  return found;
}
