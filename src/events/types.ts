/**
 * The event envelope as modules see it (DOMAIN.md "The event store"), after validation and
 * upcasting. `eventId` and `commandId` are normalised to strings (ObjectIds become hex).
 */
export interface EventMetadata {
  sourceIp?: string;
  userAgent?: string;
  correlationId?: string;
  causationId?: string;
  regulatoryFlags?: string[];
  securityLevel?: string;
  [key: string]: unknown;
}

export type EventData = Record<string, unknown>;

export interface ProjectorEvent<TData extends object = EventData, TType extends string = string> {
  readonly eventId: string;
  readonly aggregateId: string;
  readonly aggregateType: string;
  readonly eventType: TType;
  /** Schema version of eventData, e.g. "2.0" (after upcasting: the current one). */
  readonly eventVersion: string;
  /** Position in the aggregate's own stream: 1, 2, 3 … */
  readonly version: number;
  readonly eventTimestamp: Date;
  readonly storedAt?: Date;
  readonly commandId?: string;
  readonly eventData: TData;
  readonly eventMetadata: EventMetadata;
}

/** The raw document as stored in event_store (nothing about it is trusted). */
export type RawEventDocument = Record<string, unknown>;
