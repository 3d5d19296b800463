// Bisection of a component's history (`xen-pvh-virtio bisect`): a request read from the command
// line, the driver that walks good..bad with git bisect, the step that runs this CLI on each
// commit, and the reports of the verdict.
export { bisect, type BisectInput, type StepOutcome, type StepRequest, type StepRunner } from './driver.js';
export { writeBisectJunit } from './junit.js';
export { pinOtherComponents } from './pin.js';
export { BISECT_FLAGS, readBisectRequest, type BisectRequest } from './request.js';
export { bisectExitCode, COMPONENTS, type BisectResult, type Component, type Verdict } from './result.js';
export { childStepRunner, type StepCli } from './step-run.js';
export { bisectMarkdown, bisectOutputs, verdictText } from './summary.js';
