/** Environment variables as Node presents them. */
export type Environment = Readonly<Record<string, string | undefined>>;
