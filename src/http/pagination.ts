/**
 * Pages of a list, as GitLab's API has them: the query parameters `page` (from 1) and `per_page`
 * (default 20, at most 100), and the response headers X-Total, X-Total-Pages, X-Page,
 * X-Per-Page, X-Next-Page and X-Prev-Page. Every list endpoint reads its page and answers its
 * headers through this module.
 */
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';

export const DEFAULT_PER_PAGE = 20;
export const MAX_PER_PAGE = 100;

/** The query properties of a paginated list, to spread into its querystring schema. */
export const PaginationProperties = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  per_page: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PER_PAGE, default: DEFAULT_PER_PAGE }),
  ),
};

export interface Page {
  /** From 1. */
  page: number;
  perPage: number;
  /** Rows before the page: (page - 1) × perPage. */
  offset: number;
}

/** The page a (validated) query asks for. */
export function pageOf(query: { page?: number; per_page?: number }): Page {
  const page = query.page ?? 1;
  const perPage = query.per_page ?? DEFAULT_PER_PAGE;
  return { page, perPage, offset: (page - 1) * perPage };
}

/** GitLab's pagination headers for `page` of a list of `total` rows. */
export function setPaginationHeaders(
  reply: FastifyReply,
  { page, perPage }: Pick<Page, 'page' | 'perPage'>,
  total: number,
): void {
  const pages = Math.max(1, Math.ceil(total / perPage));
  reply.header('X-Total', String(total));
  reply.header('X-Total-Pages', String(pages));
  reply.header('X-Page', String(page));
  reply.header('X-Per-Page', String(perPage));
  reply.header('X-Next-Page', page < pages ? String(page + 1) : '');
  reply.header('X-Prev-Page', page > 1 ? String(Math.min(page - 1, pages)) : '');
}
