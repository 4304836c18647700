import { Controller, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Sandbox } from './sandbox';

/** Alipay's AMS payment paths, production and sandbox variants, answered by the sandbox's gateway. */
@Controller()
export class AmsController {
  constructor(@Inject(Sandbox) private readonly sandbox: Sandbox) {}

  @Post(['ams/api/v1/payments/:api', 'ams/sandbox/api/v1/payments/:api'])
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (!Buffer.isBuffer(req.body)) throw new Error('the raw AMS body was not captured: configureSandboxHttp must run before listening');
    const reply = await this.sandbox.gateway.handle({ path: req.originalUrl, headers: req.headers, body: req.body });
    if (res.destroyed || res.writableEnded) return;
    if (!reply) {
      res.destroy();
      return;
    }
    res.writeHead(reply.status, reply.headers).end(reply.body);
  }
}
