export { LocalSecretResolver, SecretNotFoundError, secretEnvName, type SecretResolver } from './secrets.js';
