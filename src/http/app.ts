/**
 * The HTTP side of the service: a Fastify app with the REST API (TypeBox schemas, which also make
 * the OpenAPI document), the registry event receiver and the health and metrics endpoints. Routes
 * live one module per resource in routes/, registered from the one list below.
 */
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServiceContext } from '../service/context.js';
import { VERSION } from '../version.js';
import { registerAuth } from './auth.js';
import { HttpError } from './errors.js';
import adminRoutes from './routes/admin.js';
import eventRoutes from './routes/events.js';
import healthRoutes from './routes/health.js';
import imageRoutes from './routes/images.js';
import projectRoutes from './routes/projects.js';
import registryRoutes from './routes/registries.js';
import reportRoutes from './routes/reports.js';
import scanRoutes from './routes/scans.js';
import userRoutes from './routes/users.js';
import vulnerabilityRoutes from './routes/vulnerabilities.js';

export type App = FastifyInstance;
export type RoutePlugin = (app: FastifyInstance, ctx: ServiceContext) => Promise<void> | void;

/** Every route module, in one explicit list. */
export const ROUTES: readonly RoutePlugin[] = [
  healthRoutes,
  eventRoutes,
  userRoutes,
  projectRoutes,
  registryRoutes,
  vulnerabilityRoutes,
  imageRoutes,
  scanRoutes,
  reportRoutes,
  adminRoutes,
];

export interface BuildAppOptions {
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(
  ctx: ServiceContext,
  options: BuildAppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    // ids and paths in URLs are decoded once by Fastify; `group%2Fapp` arrives as `group/app`
    routerOptions: { maxParamLength: 500 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Distribution sends application/vnd.docker.distribution.events.v1+json; Harbor application/json
  app.addContentTypeParser(
    /^application\/[\w.+-]*\+json(;.*)?$/i,
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new HttpError(400, 'the body is not valid JSON'), undefined);
      }
    },
  );

  app.setErrorHandler((error: unknown, request, reply) => {
    if (error instanceof HttpError) {
      return reply.status(error.statusCode).send({
        error: error.message,
        ...(error.details !== undefined ? { details: error.details } : {}),
      });
    }
    const e = error as {
      statusCode?: number;
      message?: string;
      validation?: unknown;
      code?: string;
    };
    if (e.validation) return reply.status(400).send({ error: e.message ?? 'invalid request' });
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ error: e.message ?? 'bad request' });
    }
    ctx.log.error('request failed', {
      url: request.url,
      error: String((error as Error)?.stack ?? error),
    });
    return reply.status(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'not found' }));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'regscan',
        version: VERSION,
        description:
          'Container registry vulnerability scanning: registry events, scans, vulnerabilities',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          privateToken: { type: 'apiKey', in: 'header', name: 'PRIVATE-TOKEN' },
        },
      },
      security: [{ bearer: [] }, { privateToken: [] }],
    },
  });

  registerAuth(app, ctx);
  for (const routes of ROUTES) await routes(app, ctx);
  return app;
}
