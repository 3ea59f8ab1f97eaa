/**
 * `herald/adapters/memory`: the in-memory cluster engine, kept as a public path beside the other
 * adapters. It lives in core (core/cluster/memory-adapter.ts), like Centrifuge's memory engine
 * beside its Broker contract, because it is every broker's default: docs/architecture.md. Like
 * every adapter it reaches core through the plugin surface alone.
 */
export {
  createMemoryBus, memoryAdapter, memoryHistory, MemoryAdapter, MemoryBus, MemoryHistory,
  type MemoryAdapterOptions, type MemoryBusOptions,
} from '../../core/plugin.js';
