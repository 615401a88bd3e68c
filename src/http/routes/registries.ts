import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../service/context.js';

export default function routes(_app: FastifyInstance, _ctx: ServiceContext): void {
  // to be written
}
