import { type AwsClients, CallCounter, createAwsClients } from '../../shared/aws/index.js';
import { createRepositories, type Repositories, type TableNames } from '../../shared/repositories/index.js';
import { createTables, uniquePrefix } from './tables.js';

export interface RepositoryFixture {
  clients: AwsClients;
  /** Counts every call the fixture's clients make. */
  calls: CallCounter;
  tables: TableNames;
  repos: Repositories;
}

/** Fresh tables under a unique prefix and repositories over them, for one suite. */
export async function repositoryFixture(label: string): Promise<RepositoryFixture> {
  const calls = new CallCounter();
  const clients = createAwsClients({ callCounter: calls });
  const tables = await createTables(uniquePrefix(label), clients.dynamo);
  calls.reset();
  return { clients, calls, tables, repos: createRepositories({ doc: clients.doc, tables }) };
}
