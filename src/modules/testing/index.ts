/**
 * `projectord/testing`: the module test kit for module authors (docs/MODULES.md "Testing a
 * module"). Runs modules over events the way the daemon does, in memory or against MongoDB.
 */
export {
  runModule,
  testModules,
  type ModuleTest,
  type ModuleTestOptions,
  type ModuleTestResult,
  type ScheduledDeadline,
  type TestEvent,
} from './kit.js';
export { DeadLetterError, type TestDeadLetter } from './kitErrors.js';
export { eventStream, type EventMaker, type EventStreamOptions } from './events.js';
