import nodemailer from 'nodemailer';

/** One message to a developer (plain text; the portal sends no HTML mail). */
export interface PortalMail {
  to: string;
  subject: string;
  text: string;
}

/** Sends the portal's mail: verification, password reset, invitations, approval notices. */
export interface Mailer {
  send(mail: PortalMail): Promise<void>;
  close(): void;
}

/**
 * A mailer over SMTP (nodemailer). `url` is `smtp://[user:pass@]host:port` (STARTTLS when the
 * server offers it) or `smtps://…` (TLS from the first byte, RFC 8314). Sending is awaited so a
 * sign-up answers with an error when the mail cannot be handed over.
 */
export function createSmtpMailer(url: string, from: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(mail) {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
    },
    close() {
      transport.close();
    },
  };
}

/**
 * Without SMTP_URL the portal still works for operators trying it out: mail is written to the log
 * instead (one line per message, links included), and the docs say not to run it that way.
 */
export function createLogMailer(log: (mail: PortalMail) => void): Mailer {
  return {
    async send(mail) {
      log(mail);
    },
    close() {},
  };
}
