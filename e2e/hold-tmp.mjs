import { KubeCluster } from '@ganglion/testing';
import { existsSync, writeFileSync } from 'node:fs';
const c = await KubeCluster.start();
writeFileSync('/tmp/cluster-work/hold.json', JSON.stringify({ dir: c.dir, kubeconfig: c.kubeconfigPath, sock: c.containerdSocket }));
console.log('UP', c.dir);
console.log('busybox', c.importBusybox());
while (!existsSync('/tmp/cluster-work/stop')) await new Promise((r) => setTimeout(r, 500));
await c.destroy();
console.log('DOWN');
