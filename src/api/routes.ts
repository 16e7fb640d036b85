import type { NodesService } from '../apps/nodes.js';
import type { AppService } from '../apps/service.js';
import type { DeployOutput } from '../log/output.js';
import type { ChecksState } from '../model/app.js';
import type { API, EndpointName, ParamsOf, RequestOf, ResponseOf } from '../model/api.js';
import type { AppRecord } from '../store/store.js';
import { noRequest, readAppName, readAutoSwitch, readCertificatePair, readConfigChange, readConfirmation, readDeployChange, readEngineUrl, readImageReference, readDeployLogRelease, readDomain, readFormation, readLogsQuery, readProxyChange, readResourceChange, readResourceScope, readRollback, readMountSelector, readRunRequest, readSchedulerChange, readStorageMount, type RawRequest } from './requests.js';
import { appInfo, appSummary, releaseInfo } from './views.js';

/** What a handler gets: the path's parameters, percent-decoded, and the request, read into its type. */
export interface Call<E> {
  params: ParamsOf<E>;
  request: RequestOf<E>;
}

/** Where a streamed answer's lines go, and a signal that fires when the client goes away. */
export interface Stream {
  output: DeployOutput;
  cancelled: AbortSignal;
}

/** Answers with the endpoint's response type; a streaming endpoint's handler also gets the stream. */
export type Handler<E> = E extends { streams: true } ? (call: Call<E>, stream: Stream) => Promise<ResponseOf<E>> : (call: Call<E>) => Promise<ResponseOf<E>>;

export interface Route<E> {
  /** Reads the request from the body (a GET's from the query), throwing an InputError that shows the shape. */
  read(raw: RawRequest): RequestOf<E>;
  handle: Handler<E>;
  /** The status of a success when it is not 200. */
  status?: number;
  /** false: keep no transcript of the stream; container output is no deploy log, and with --follow it never ends. */
  transcript?: false;
}

/** One named route for each endpoint of API; a missing one, or a handler of the wrong type, does not compile. */
export type RouteTable = { [Name in EndpointName]: Route<(typeof API)[Name]> };

/** The handlers read and hand over; every rule about apps, names and values is the service's to apply. */
export function apiRoutes(service: AppService, startedAt: number): RouteTable {
  const { apps, config, processes, releases, checks, domains, certs, proxy, resources, storage, logs, status, run, cron, deploy, scheduler, nodes } = service;
  const info = async (app: AppRecord) => ({ app: appInfo(app, apps.hostNames(app), await apps.containers(app)) });
  const setChecks = (state: ChecksState) => ({ read: noRequest, handle: async ({ params }: { params: { app: string } }) => ({ checks: await checks.set(params.app, state) }) });
  return {
    status: { read: noRequest, handle: () => status.report(startedAt) },
    listApps: { read: noRequest, handle: async () => ({ apps: (await apps.list()).map((app) => appSummary(app, apps.hostNames(app))) }) },
    createApp: { read: readAppName, status: 201, handle: async ({ request }) => info(await apps.create(request.name)) },
    appInfo: { read: noRequest, handle: async ({ params }) => info(await apps.get(params.app)) },
    destroyApp: { read: readConfirmation, handle: async ({ params, request }) => ({ destroyed: params.app, ...(await apps.destroy(params.app, request.confirm, request.purgeStorage)) }) },
    showConfig: { read: noRequest, handle: async ({ params }) => ({ config: await config.show(params.app) }) },
    changeConfig: { read: readConfigChange, handle: ({ params, request }, { output }) => config.change(params.app, request, output) },
    scale: { read: readFormation, handle: ({ params, request }, { output }) => processes.scale(params.app, request.formation, output) },
    restart: { read: noRequest, handle: ({ params }, { output }) => processes.restart(params.app, output) },
    stop: { read: noRequest, handle: ({ params }, { output }) => processes.stop(params.app, output) },
    start: { read: noRequest, handle: ({ params }, { output }) => processes.start(params.app, output) },
    releases: { read: noRequest, handle: async ({ params }) => ({ releases: (await releases.list(params.app)).map(releaseInfo) }) },
    rollback: { read: readRollback, handle: ({ params, request }, { output }) => releases.rollback(params.app, request.release, output) },
    disableChecks: setChecks('disabled'),
    enableChecks: setChecks('enabled'),
    skipChecks: setChecks('skip-next'),
    runChecks: { read: noRequest, handle: ({ params }, { output }) => checks.run(params.app, output) },
    domains: { read: noRequest, handle: ({ params }) => domains.list(params.app) },
    addDomain: { read: readDomain, handle: ({ params, request }) => domains.add(params.app, request.domain) },
    removeDomain: { read: noRequest, handle: ({ params }) => domains.remove(params.app, params.domain) },
    certificate: { read: noRequest, handle: ({ params }) => certs.info(params.app) },
    addCertificate: { read: readCertificatePair, handle: ({ params, request }) => certs.add(params.app, request.cert, request.key) },
    removeCertificate: { read: noRequest, handle: ({ params }) => certs.remove(params.app) },
    autoCertificate: { read: readAutoSwitch, handle: ({ params, request }, { output }) => certs.auto(params.app, request.on, output) },
    setProxy: { read: readProxyChange, handle: ({ params, request }) => proxy.set(params.app, request) },
    resources: { read: noRequest, handle: ({ params }) => resources.report(params.app) },
    limitResources: { read: readResourceChange, handle: ({ params, request }, { output }) => resources.limit(params.app, request, output) },
    clearResources: { read: readResourceScope, handle: ({ params, request }, { output }) => resources.clear(params.app, request.process, output) },
    storage: { read: noRequest, handle: ({ params }) => storage.list(params.app) },
    mountStorage: { read: readStorageMount, handle: ({ params, request }, { output }) => storage.mount(params.app, request, output) },
    unmountStorage: { read: readMountSelector, handle: ({ params, request }, { output }) => storage.unmount(params.app, request, output) },
    logs: {
      read: readLogsQuery,
      transcript: false,
      handle: async ({ params, request }, { output, cancelled }) => {
        const send = (line: string) => {
          output.raw(line);
          return output.ready();
        };
        await logs.stream(params.app, request, send, cancelled);
        return {};
      },
    },
    run: { read: readRunRequest, transcript: false, handle: ({ params, request }, { output, cancelled }) => run.run(params.app, request, output, cancelled) },
    cronList: { read: noRequest, handle: async ({ params }) => ({ jobs: await cron.list(params.app) }) },
    cronRun: { read: noRequest, transcript: false, handle: ({ params }, { output, cancelled }) => cron.run(params.app, params.id, output, cancelled) },
    deploySettings: { read: noRequest, handle: ({ params }) => deploy.report(params.app) },
    setDeploy: { read: readDeployChange, handle: ({ params, request }) => deploy.set(params.app, request) },
    schedulerReport: { read: noRequest, handle: ({ params }) => scheduler.report(params.app) },
    setScheduler: { read: readSchedulerChange, handle: ({ params, request }, { output }) => scheduler.set(params.app, request.scheduler, output) },
    deployImage: { read: readImageReference, handle: ({ params, request }, { output, cancelled }) => deploy.image(params.app, request.image, output, cancelled) },
    deployLog: { read: noRequest, handle: ({ params }) => releases.deployLog(params.app, readDeployLogRelease(params.release)) },
    ...nodeRoutes(nodes),
  };
}

type NodeEndpoint = 'nodes' | 'addNode' | 'drainNode' | 'activateNode' | 'removeNode';

/** The nodes of berth's swarm: not an app's, so none takes `:app`. */
function nodeRoutes(nodes: NodesService): Pick<RouteTable, NodeEndpoint> {
  return {
    nodes: { read: noRequest, handle: async () => ({ nodes: await nodes.list() }) },
    addNode: { read: readEngineUrl, handle: async ({ request }, { output }) => ({ node: await nodes.add(request.engine, output) }) },
    drainNode: { read: noRequest, handle: async ({ params }, { output }) => ({ node: await nodes.drain(params.node, output) }) },
    activateNode: { read: noRequest, handle: async ({ params }) => ({ node: await nodes.activate(params.node) }) },
    removeNode: { read: noRequest, handle: async ({ params }, { output }) => ({ removed: await nodes.remove(params.node, output) }) },
  };
}
