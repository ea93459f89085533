/**
 * What "Run all" sends as the experiment: every experiment, in the registry's
 * order, as one run. Its own module without "server-only", because the page's
 * client component sends it too.
 */
export const RUN_ALL = "all";
