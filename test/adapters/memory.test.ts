import { createMemoryBus, memoryAdapter } from '../../adapters/memory/index.js';
import { adapterConformance } from './conformance.js';

adapterConformance('memory', async () => {
  const bus = createMemoryBus();
  return { node: () => memoryAdapter({ bus }) };
}, { propagationMs: 500 });
