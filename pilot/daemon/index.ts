/** The pilot daemon: keeps one pilot of the current release running on a node. */
export { DaemonConfig, loadDaemonConfig, nextShortRuns, PilotDaemon, restartDelayMs } from './daemon.js';
export {
  type CachedRelease,
  DEFAULT_RELEASE_PREFIX,
  fetchRelease,
  lastGoodRelease,
  manifestKey,
  ReleaseError,
  ReleaseManifest,
  ReleaseVersion,
  releaseKey,
} from './release.js';
