// console/: the one reader of Xen's serial byte stream. Scenario steps use the Console's
// protocol (expect, run, focus, waitForShell, tail); the pure pieces are exported for tests.
export { Console, type ConsoleOptions, type ExpectOptions } from './console.js';
export { type Line } from './lines.js';
export { type DomainRef } from './names.js';
export { type ConsoleRun, type RunProfile, type ShellReady } from './shells.js';
export { DEFAULT_PACING, type Pacing } from './typist.js';
export {
  Demux,
  domidOf,
  focusName,
  parseBanner,
  sourceOfDomid,
  splitGlued,
  type Attribution,
  type ClassifiedLine,
  type DemuxState,
  type Focus,
  type SourceId,
} from './demux.js';
export { ConsoleClosed, ConsoleFatal, ConsoleTimeout, FocusError } from './errors.js';
export { FATAL_PATTERNS, matchFatal, type FatalHit, type FatalPattern } from './fatal.js';
export { WARNING_PATTERNS, WarningWatch, isWarning, type SeenWarning, type WarningPattern } from './warnings.js';
export { moveFocus, SWITCH_INPUT, type FocusOutcome, type FocusPort } from './focus.js';
export { serialDuplex, type SerialLike } from './link.js';
export { markCommand, type MarkedCommand } from './marker.js';
export { cleanText, LineSplitter, MAX_LINE_BYTES, type SplitLine } from './splitter.js';
