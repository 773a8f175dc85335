/** Schema objects that several trigger types share: parameters, payload, artifact locations, secure headers. */
import { ConfigMapKeySelector, S3Artifact, TLSConfig, secret } from '../schema/common.schema.js';
import { arr, bool, enumOf, free, int, obj, str, withDoc } from '../schema/dsl.schema.js';

/** Argo `TriggerParameterSource`. */
const TriggerParameterSource = obj(
  'TriggerParameterSource',
  {
    dependencyName: str('Dependency whose event supplies the value.'),
    contextKey: str('gjson path into the event context.'),
    contextTemplate: str('Go template over the event context (`.Input`).'),
    dataKey: str('gjson path into the event data.'),
    dataTemplate: str('Go template over the event data (`.Input`).'),
    value: str('Default value, used when nothing else resolves.'),
    useRawData: bool('Insert JSON, numbers and bools unquoted.'),
  },
  {
    doc: 'Argo `TriggerParameterSource`: where a parameter value comes from.',
    required: ['dependencyName'],
  },
);

/** Argo `TriggerParameter`. */
export const TriggerParameter = obj(
  'TriggerParameter',
  {
    src: TriggerParameterSource,
    dest: str('sjson path in the target (`-1` appends); empty in `payload` means the whole body.', {
      allowEmpty: true,
    }),
    operation: enumOf(
      ['overwrite', 'append', 'prepend'],
      'How the value is combined with the existing one; overwrite by default.',
    ),
  },
  {
    doc: 'Argo `TriggerParameter`: copies a value from an event into a trigger or payload.',
    required: ['src', 'dest'],
  },
);

export const parameters = arr(
  TriggerParameter,
  "Parameters applied to this trigger type's resource.",
);
export const payload = arr(TriggerParameter, 'Parameters that build the payload sent.');
export const tls = withDoc(TLSConfig, 'TLS settings.');

/** Argo `ArtifactLocation`: where a k8s or argoWorkflow trigger reads its resource. */
export const ArtifactLocation = obj(
  'ArtifactLocation',
  {
    s3: S3Artifact,
    inline: str('The resource as a YAML or JSON string.'),
    file: obj('FileArtifact', { path: str('Path of the file.') }, { required: ['path'] }),
    url: obj(
      'URLArtifact',
      { path: str('URL of the resource.'), verifyCert: bool('Verify the TLS certificate.') },
      { required: ['path'] },
    ),
    configmap: withDoc(ConfigMapKeySelector, 'A ConfigMap key holding the resource.'),
    git: obj(
      'GitArtifact',
      {
        url: str('Repository URL.'),
        cloneDirectory: str('Where to clone.'),
        creds: obj('GitCreds', { username: secret('User name.'), password: secret('Password.') }),
        sshKeySecret: secret('SSH private key.'),
        filePath: str('Path of the resource in the repository.'),
        branch: str('Branch.'),
        tag: str('Tag.'),
        ref: str('Any git ref.'),
        remote: obj(
          'GitRemoteConfig',
          { name: str('Remote name.'), urls: arr(str(), 'Remote URLs.') },
          { required: ['name', 'urls'] },
        ),
        insecureIgnoreHostKey: bool('Skip SSH host key verification.'),
        githubApp: obj('GitGithubAppCreds', {
          privateKey: secret('App private key.'),
          appID: int('App id.'),
          installationID: int('Installation id.'),
        }),
      },
      { doc: 'Argo `GitArtifact`.', required: ['url', 'cloneDirectory', 'filePath'] },
    ),
    resource: free('The resource as an embedded object.'),
  },
  {
    doc: 'Argo `ArtifactLocation`: one source of a Kubernetes resource.',
    atLeastOne: [['s3', 'inline', 'file', 'url', 'configmap', 'git', 'resource']],
  },
);

/** Argo `SecureHeader`. */
export const SecureHeader = obj(
  'SecureHeader',
  {
    name: str('Header name.'),
    valueFrom: obj(
      'ValueFromSource',
      {
        secretKeyRef: secret('Value from a Secret.'),
        configMapKeyRef: withDoc(ConfigMapKeySelector, 'Value from a ConfigMap.'),
      },
      { atLeastOne: [['secretKeyRef', 'configMapKeyRef']] },
    ),
  },
  {
    doc: 'Argo `SecureHeader`: a header whose value is read from a Secret or ConfigMap.',
    required: ['name', 'valueFrom'],
  },
);
