import { fileURLToPath } from 'node:url';
import {
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** Path of Argo's custom trigger protocol (libs/triggers/proto/trigger.proto). */
const TRIGGER_PROTO_PATH = fileURLToPath(new URL('../../proto/trigger.proto', import.meta.url));

/** Answers of the protocol, as @grpc/proto-loader gives them (bytes as Buffer). */
export interface FetchResourceResponse {
  resource: Buffer;
}
export interface ExecuteResponse {
  response: Buffer;
}
export interface ApplyPolicyResponse {
  success: boolean;
  message: string;
}

let loaded: ServiceClientConstructor | undefined;

/** The generated `triggers.Trigger` service constructor (client; `.service` for servers). */
export function triggerService(): ServiceClientConstructor {
  if (!loaded) {
    const def = loadSync(TRIGGER_PROTO_PATH, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const pkg = loadPackageDefinition(def)['triggers'] as GrpcObject;
    loaded = pkg['Trigger'] as ServiceClientConstructor;
  }
  return loaded;
}
