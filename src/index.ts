/**
 * projectord's public API: what module authors import.
 *
 *   import { defineProjection } from 'projectord';
 */
export { defineProjection, defineReaction } from './modules/types.js';
export type {
  AppendResult,
  BaseContext,
  Deadline,
  DocumentData,
  GuardedUpdate,
  ModuleDefinition,
  NewEvent,
  PartitionInfo,
  ProjectionContext,
  ProjectionDefinition,
  ReactionContext,
  ReactionDefinition,
  ReadContext,
  Scalar,
  StreamFilter,
  WriteContext,
} from './modules/types.js';
export { defineUpcaster } from './dispatch/upcast.js';
export type { Upcaster } from './dispatch/upcast.js';
export type { EventData, EventMetadata, ProjectorEvent } from './events/types.js';
