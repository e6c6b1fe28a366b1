/**
 * `ts-proxystore/observe`: see what stores and executors do. Debug logs need
 * nothing from here (set `DEBUG=ts-proxystore:*`); this entry adds the live
 * dashboard and the shapes of the figures it shows.
 */
export { startDashboard, type Dashboard, type DashboardOptions, type DashboardSnapshot, type StoreSnapshot } from './dashboard.js';
export { DURATION_BUCKETS_MS, type ExecutorStats, type TaskBytesStats, type TaskStats, type WorkerTime } from '../executors/task-stats.js';
export type { StoreStats } from '../store/store.js';
export { observeWithMeter, type MeterLike, type MeterSources, type ObservableLike, type ObservableResultLike } from './otel.js';
