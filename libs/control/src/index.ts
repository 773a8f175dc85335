export { DirectoryReconciler, type DirectoryReconcilerOptions } from './directory.reconciler.js';
export { KubernetesReconciler, type KubernetesReconcilerOptions, type KubernetesSettings } from './kubernetes.reconciler.js';
