// The flow pipeline: records → events → flows. See docs/flows.md for the flow schema.
export { Aggregator, type AggregatorOptions } from './aggregate.js';
export { type RecordBatch } from '../native/record-batch.js';
export { BatchReader } from './batch.js';
export { communityId, type FlowEndpoint } from './community-id.js';
export { DEFAULT_FAMILIES, FLOW_SCHEMA_VERSION, toFlow, type Flow, type Op } from './flow.js';
export { updateSockets, type SocketFacts, type SocketStep } from './socket-update.js';
export { LossCounter, type LossCallback, type LossReason, type LossReport } from './loss.js';
export { Pipeline, type PipelineOptions, type PipelineStats } from './pipeline.js';
export { createProcessResolver, LabelRules, ProcessConfigError, ProcessResolver, UserNames, type LabelRule, type ProcessContextConfig, type ProcessResolverStats } from './process/index.js';
export { Reassembler, type AuditEvent, type ReassemblerOptions } from './reassembler.js';
export { parseKernelRecord, parseLogLine, proctitleArgv, RecordParseError, type AuditRecord, type ParseResult } from './record.js';
export { decodeSockaddr, decodeSockaddrHex, type Sockaddr, type SockaddrError, type SockaddrResult } from './sockaddr.js';
export { procSocketResolver, SocketTable, type ProcSocketResolverOptions, type SocketHint, type SocketInfo, type SocketResolver } from './sockets.js';
