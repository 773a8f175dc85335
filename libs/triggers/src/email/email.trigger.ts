import type { EmailTrigger } from '@ganglion/api';
import nodemailer, { type Transporter } from 'nodemailer';
import { ClientCache } from '../common/client.cache.js';
import { applyTypeParameters, failure, TemplateError } from '../common/params.helper.js';
import { resolveSecret } from '../common/secrets.helper.js';
import type { TriggerPlugin } from '../trigger.js';

/** Argo's recipient check (`pkg/sensors/triggers/email/email.go`). */
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export interface EmailTriggerOptions {
  /** Require TLS certificates to verify (default true). */
  rejectUnauthorized?: boolean;
}

/**
 * Argo's `email` trigger over SMTP (nodemailer): `host`, `port` (465 means implicit TLS,
 * others STARTTLS when offered, and required when `username` is set: unlike Argo, a login is
 * never sent in clear text), `username` + `smtpPassword`, `from`, `to[]`, `subject`,
 * `body` (plain text). Unlike Argo, the type's own `parameters` are applied. The Message-ID is
 * derived from the action id, so a re-sent mail is recognisable as the same message.
 */
export function createEmailTrigger(options: EmailTriggerOptions = {}): TriggerPlugin<EmailTrigger> {
  const transports = new ClientCache<Transporter>((t) => t.close());
  return {
    type: 'email',
    async execute(template, _trigger, events, ctx) {
      const what = `email via ${template.host}:${template.port ?? 587}`;
      let settings: Record<string, unknown> | undefined;
      try {
        const t = applyTypeParameters(template, events);
        const to = t.to ?? [];
        if (to.length === 0) throw new TemplateError('to: at least one recipient is required');
        for (const r of to)
          if (!EMAIL.test(r)) throw new TemplateError(`to: "${r}" is not a valid email address`);
        if (t.from !== undefined && !EMAIL.test(t.from))
          throw new TemplateError(`from: "${t.from}" is not a valid email address`);
        const port = t.port ?? 587;
        settings = {
          host: t.host,
          port,
          secure: port === 465,
          // Credentials never travel in clear text: with a login, STARTTLS is required when the
          // connection is not TLS from the start (a server that does not offer it fails the send).
          ...(t.username && port !== 465 ? { requireTLS: true } : {}),
          ...(t.username
            ? {
                auth: {
                  user: t.username,
                  pass: t.smtpPassword ? await resolveSecret(ctx, t.smtpPassword) : '',
                },
              }
            : {}),
          tls: { rejectUnauthorized: options.rejectUnauthorized ?? true },
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
          socketTimeout: 30_000,
        };
        const s = settings;
        const transport = await transports.get(s, async () => nodemailer.createTransport(s));
        const info = (await transport.sendMail({
          ...(t.from ? { from: t.from } : {}),
          to,
          subject: t.subject ?? '',
          text: t.body ?? '',
          messageId: `<${ctx.actionId}@ganglion>`,
          headers: { 'X-Ganglion-Action-Id': ctx.actionId },
        })) as { accepted?: unknown[]; rejected?: unknown[]; response?: string };
        if (info.rejected && info.rejected.length > 0)
          return {
            ok: false,
            error: `${what}: rejected recipients ${info.rejected.map(String).join(', ')}`,
            retryable: false,
          };
        return {
          ok: true,
          detail: `mailed ${to.length} recipient(s): ${info.response ?? ''}`.trim(),
        };
      } catch (err) {
        if (settings && !(err instanceof TemplateError)) await transports.evict(settings);
        if ((err as { code?: string }).code === 'ETLS' && settings?.['requireTLS'])
          return {
            ok: false,
            error: `${what}: the server offers no STARTTLS, and credentials are sent only over TLS (${(err as Error).message})`,
            retryable: false,
          };
        const code = (err as { responseCode?: number }).responseCode;
        if (code !== undefined && code >= 500 && code < 600)
          return { ok: false, error: `${what}: ${(err as Error).message}`, retryable: false };
        return failure(err, what);
      }
    },
    close: () => transports.close(),
  };
}
