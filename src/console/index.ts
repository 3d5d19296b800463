// console/: the one reader of Xen's serial byte stream. Scenario steps use the Console's
// protocol (expect, run, focus, waitForShell, tail); the pure pieces are exported for tests.
export {
  Console,
  DEFAULT_PACING,
  type ConsoleOptions,
  type DomainRef,
  type ExpectOptions,
  type Line,
  type Pacing,
  type RunResult,
  type ShellReady,
} from './console.js';
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
