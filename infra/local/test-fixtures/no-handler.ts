/** Function-pool fixture: a module that exports no `handler`, so its cold start fails. */
export const notAHandler = 'nothing to invoke here';
