/**
 * The identity assertion's timing, shared by the config schema (the bound of
 * `tollgate:identity.assertionReuseSeconds`) and the runtime that signs it.
 */

/** Seconds an assertion is valid: long enough for clock skew and a slow upstream to read it, short enough to be useless if it leaks. */
export const assertionLifetimeSeconds = 60;

/**
 * The least validity an assertion has left when it is sent: a reused
 * assertion is never sent with less than this of its minute left, so the
 * longest reuse is the lifetime minus this.
 */
export const assertionMinimumValiditySeconds = 30;

/** The most a container may reuse a signed assertion (`tollgate:identity.assertionReuseSeconds`), and its default. */
export const assertionReuseCeilingSeconds = assertionLifetimeSeconds - assertionMinimumValiditySeconds;
