/**
 * The composition root (docs/architecture.md): one inversify Container per broker, bound without
 * decorators. Embedders never need this; it is exported as `herald/di` for those who want to swap a
 * service (bind their own under a token before resolving Broker).
 */
import { randomBytes } from 'node:crypto';
import { Container, ContainerModule } from 'inversify';
import type { Logger } from 'pino';
import { Broker } from './broker.js';
import { memoryAdapter } from './cluster/memory-adapter.js';
import type { ClusterAdapter, Transport } from './contracts.js';
import { HttpHost } from './http-host.js';
import { createLogger } from './logger.js';
import { resolveOptions, type BrokerOptions, type ResolvedOptions } from './options.js';

export const TOKENS = {
  Options: Symbol.for('herald.Options'),
  Logger: Symbol.for('herald.Logger'),
  NodeId: Symbol.for('herald.NodeId'),
  Adapter: Symbol.for('herald.ClusterAdapter'),
  Transport: Symbol.for('herald.Transport'),
  HttpHost: Symbol.for('herald.HttpHost'),
  Broker: Symbol.for('herald.Broker'),
} as const;

/** A plugin as a ContainerModule: each transport binds many-to-one under TOKENS.Transport. */
export function transportModule(transport: Transport): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Transport>(TOKENS.Transport).toConstantValue(transport);
  });
}

export function createContainer(input: BrokerOptions): Container {
  const options = resolveOptions(input);
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind<ResolvedOptions>(TOKENS.Options).toConstantValue(options);
  container.bind<Logger>(TOKENS.Logger).toDynamicValue(() => createLogger(options.logger));
  container.bind<string>(TOKENS.NodeId).toDynamicValue(() => options.nodeId ?? randomBytes(6).toString('base64url'));
  // No adapter: the in-memory engine on a private bus, keeping history in `history.store` when given
  // one (say, lmdbHistory from herald/adapters/lmdb), in memory otherwise.
  const { store } = options.history;
  container.bind<ClusterAdapter>(TOKENS.Adapter).toDynamicValue(() => options.adapter ?? memoryAdapter(store === undefined ? {} : { store }));
  container.bind<HttpHost>(TOKENS.HttpHost).toResolvedValue(
    (o: ResolvedOptions, logger: Logger) => new HttpHost(o, logger),
    [TOKENS.Options, TOKENS.Logger],
  );
  container.load(...options.transports.map(transportModule));
  container.bind<Broker>(TOKENS.Broker).toResolvedValue(
    (o: ResolvedOptions, logger: Logger, adapter: ClusterAdapter, http: HttpHost, transports: Transport[] | undefined, nodeId: string) =>
      new Broker(o, logger, adapter, http, transports ?? [], nodeId),
    [TOKENS.Options, TOKENS.Logger, TOKENS.Adapter, TOKENS.HttpHost, { serviceIdentifier: TOKENS.Transport, isMultiple: true, optional: true }, TOKENS.NodeId],
  );
  return container;
}

/** Resolves and starts the broker of a container made by createContainer(). */
export async function startBroker(container: Container): Promise<Broker> {
  const broker = container.get<Broker>(TOKENS.Broker);
  try {
    await broker.start();
  } catch (err) {
    await broker.close().catch(() => undefined);
    throw err;
  }
  return broker;
}

export { Container };
