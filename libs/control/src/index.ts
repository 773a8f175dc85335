export { DirectoryReconciler } from './directory.reconciler.js';
export { KubernetesReconciler, type KubernetesSettings } from './kubernetes.reconciler.js';
