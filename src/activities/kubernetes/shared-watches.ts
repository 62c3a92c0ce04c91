import type { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { CLAIM, LABELS, SGBACKUP, SGDBOPS, collectionPath, type Kind } from './resources.js';
import { WatchedCollection } from './watched-collection.js';

// The watches a worker's waits subscribe to: one per kind that claimflow labels (claims, SGDbOps,
// SGBackups), across all namespaces, opened on the first wait and kept until the worker stops.
// SGClusters are the composition's and carry no label of ours, so a wait on one (a resize, rare)
// watches that one object for as long as it waits.

const SHARED: readonly Kind[] = [CLAIM, SGDBOPS, SGBACKUP];
const OURS = LABELS.instanceId; // on every object claimflow writes (resources.ts)

export interface SharedWatches {
  /** The watch for a wait on one object of this kind. */
  forObject(resource: Kind, namespace: string, name: string): WatchedCollection;
  stop(): void;
}

export function createSharedWatches(kubeConfig: KubeConfig, objects: KubernetesObjectApi): SharedWatches {
  const shared = new Map<string, WatchedCollection>();
  const currentVersion = (resource: Kind, where: { namespace?: string; fieldSelector?: string; labelSelector?: string }) => async () => {
    const list = await objects.list(resource.apiVersion, resource.kind, where.namespace, undefined, undefined, undefined, where.fieldSelector, where.labelSelector, 1);
    return list.metadata?.resourceVersion ?? '';
  };

  return {
    forObject(resource, namespace, name) {
      if (SHARED.includes(resource)) {
        let collection = shared.get(resource.kind);
        if (!collection) {
          const selector = { labelSelector: OURS };
          collection = new WatchedCollection({ kubeConfig, path: collectionPath(resource), selector, currentVersion: currentVersion(resource, selector) });
          shared.set(resource.kind, collection);
        }
        return collection;
      }
      const selector = { fieldSelector: `metadata.name=${name}` };
      return new WatchedCollection({
        kubeConfig,
        path: collectionPath(resource, namespace),
        selector,
        currentVersion: currentVersion(resource, { namespace, ...selector }),
        stopWhenUnused: true,
      });
    },
    stop() {
      shared.forEach((collection) => collection.stop());
      shared.clear();
    },
  };
}
