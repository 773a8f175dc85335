/** The `awsLambda` trigger type (Argo `AWSLambdaTrigger`): its schema fragment; no rules beyond the structural ones (required fields, enums, formats). */
import { enumOf, obj, str } from '../schema/dsl.schema.js';
import { secret } from '../schema/common.schema.js';
import { parameters, payload } from './trigger-fields.schema.js';
import type { TypeModel } from '../type-model.js';

export const awsLambdaTrigger = {
  schema: obj(
    'AWSLambdaTrigger',
    {
      functionName: str('Lambda function name.'),
      accessKey: secret('AWS access key.'),
      secretKey: secret('AWS secret key.'),
      region: str('AWS region.'),
      payload,
      parameters,
      invocationType: enumOf(
        ['RequestResponse', 'Event', 'DryRun'],
        'Invocation type; RequestResponse by default.',
      ),
      roleARN: str('Role to assume.'),
    },
    {
      doc: 'Argo `AWSLambdaTrigger`: invoke an AWS Lambda function.',
      required: ['functionName', 'region', 'payload'],
    },
  ),
} satisfies TypeModel;
