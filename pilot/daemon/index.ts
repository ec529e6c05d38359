/** The pilot daemon: keeps one pilot of the current release running on a node. */
export {
  DaemonConfig,
  loadDaemonConfig,
  loadReleasePublicKey,
  nextShortRuns,
  PilotDaemon,
  restartDelayMs,
} from './daemon.js';
export {
  type CachedRelease,
  DEFAULT_RELEASE_PREFIX,
  fetchRelease,
  lastGoodRelease,
  manifestKey,
  manifestRefusal,
  ReleaseError,
  ReleaseManifest,
  ReleaseVersion,
  readSigningKey,
  releaseKey,
  signedBytes,
  signManifest,
  type UnsignedManifest,
} from './release.js';
