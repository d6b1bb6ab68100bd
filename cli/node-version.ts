/**
 * Imported first by the CLI entry, before any module that needs a newer Node.js, so that an unsupported
 * version is one clear line and exit 1, not a stack trace from deep in a dependency. Node 22 and 24 are the
 * LTS lines Vigil is tested on (CI runs both); Node 20 is past its end of life.
 */
const MINIMUM_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);
if (major < MINIMUM_MAJOR) {
  process.stderr.write(`vigil: VIGIL_ERR_CONFIG Node.js ${process.versions.node} is not supported: use Node.js ${MINIMUM_MAJOR} or 24 (LTS), see the README\n`);
  process.exit(1);
}
export {};
