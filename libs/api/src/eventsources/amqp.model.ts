/** The `amqp` event source type (Argo `AMQPEventSource`): its schema fragment and its validation rules. */
import { bool, obj, str, withDoc } from '../schema/dsl.schema.js';
import { BasicAuth, secret } from '../schema/common.schema.js';
import { metadata, filter, jsonBody, connectionBackoff, tls } from './source-fields.schema.js';
import { onlyOne } from '../common.rules.js';
import type { TypeModel } from '../type-model.js';

export const amqpSource = {
  schema: obj(
    'AMQPEventSource',
    {
      url: str('AMQP URL, e.g. amqp://guest:guest@rabbitmq:5672/.'),
      urlSecret: secret('AMQP URL from a Secret.'),
      exchangeName: str('Exchange name.'),
      exchangeType: str('Exchange type: direct, fanout, topic, headers.'),
      routingKey: str('Routing key of the queue binding.'),
      connectionBackoff,
      jsonBody,
      tls,
      metadata,
      exchangeDeclare: obj(
        'AMQPExchangeDeclareConfig',
        { durable: bool(), autoDelete: bool(), internal: bool(), noWait: bool() },
        { doc: 'Argo `AMQPExchangeDeclareConfig`.' },
      ),
      queueDeclare: obj(
        'AMQPQueueDeclareConfig',
        {
          name: str('Queue name; generated when empty.'),
          durable: bool(),
          autoDelete: bool(),
          exclusive: bool(),
          noWait: bool(),
          arguments: str('Extra arguments as a JSON string.'),
        },
        { doc: 'Argo `AMQPQueueDeclareConfig`.' },
      ),
      queueBind: obj(
        'AMQPQueueBindConfig',
        { noWait: bool() },
        { doc: 'Argo `AMQPQueueBindConfig`.' },
      ),
      consume: obj(
        'AMQPConsumeConfig',
        { consumerTag: str(), autoAck: bool(), exclusive: bool(), noLocal: bool(), noWait: bool() },
        { doc: 'Argo `AMQPConsumeConfig`.' },
      ),
      auth: withDoc(BasicAuth, 'User name and password.'),
      filter,
    },
    {
      doc: 'Argo `AMQPEventSource` (type string `amqp`).',
      required: ['exchangeType', 'routingKey'],
      atLeastOne: [['url', 'urlSecret']],
    },
  ),
  rules: {
    AMQPEventSource: (v, path, { c }) => onlyOne(v, 'url', 'urlSecret', path, c),
  },
} satisfies TypeModel;
