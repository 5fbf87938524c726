import type { Application } from "express";
import { z } from "zod";
import { RejectionCode } from "@loom/shared";
import { services } from "../services.ts";
import { ApiError, caller, parseBody, route } from "./http.ts";
import { NameTakenError } from "../auth/account-store.ts";
import { loginName } from "../auth/login-name.ts";
import {
  burnPasswordCheck,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  verifyPassword,
} from "../auth/passwords.ts";
import { AuthError } from "../auth/tokens.ts";

const name = z.string().trim().min(1).max(100);
const password = z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);
const refreshToken = z.string().min(1).max(200);

const registerBody = z.object({ name, password: password.optional() });
// a login's password is not held to today's length rules: it only has to match
const loginBody = z.object({ name, password: z.string().min(1).max(MAX_PASSWORD_LENGTH) });
const refreshBody = z.object({ refreshToken });
const passwordBody = z.object({
  password,
  currentPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH).optional(),
  /** The login name, when it should differ from the player's name. */
  login: name.optional(),
});

function invalidCredentials(): ApiError {
  return new ApiError(401, RejectionCode.InvalidCredentials, "wrong name or password");
}

function nameTaken(error: NameTakenError): ApiError {
  return new ApiError(409, RejectionCode.NameTaken, `${error.message}; choose another login name`);
}

function unauthorized(error: unknown): unknown {
  return error instanceof AuthError ? new ApiError(401, error.code, error.message) : error;
}

/**
 * Registration, login, refresh, logout and passwords. A player registered with a name alone (as
 * before accounts existed) gets the same tokens and may set a password later; a password makes
 * the name a login name, unique whatever its case.
 */
export function installAccountRoutes(app: Application): void {
  app.post(
    "/api/players",
    route(async (req, res) => {
      const { limits, accountStore, sessions, newId, clock } = services();
      limits.register(req);
      const body = parseBody(registerBody, req.body);
      const login = body.password === undefined ? null : loginName(body.name);
      const passwordHash = body.password === undefined ? null : await hashPassword(body.password);
      const player = await accountStore
        .createAccount({ id: newId(), name: body.name, login, passwordHash, createdAt: new Date(clock()) })
        .catch((error: unknown) => {
          throw error instanceof NameTakenError ? nameTaken(error) : error;
        });
      const session = await sessions.start({ playerId: player.id, name: player.name, generation: 0 });
      res.status(201);
      return { ...session, player };
    }),
  );

  app.post(
    "/api/auth/login",
    route(async (req) => {
      const { limits, accountStore, sessions } = services();
      const body = parseBody(loginBody, req.body);
      const login = loginName(body.name);
      limits.login(req, login);
      const account = await accountStore.byLogin(login);
      if (!account?.passwordHash) {
        await burnPasswordCheck(body.password);
        throw invalidCredentials();
      }
      const check = await verifyPassword(body.password, account.passwordHash);
      if (!check.ok) throw invalidCredentials();
      if (check.stale)
        await accountStore.setPassword(account.playerId, login, await hashPassword(body.password));
      return sessions.start(account);
    }),
  );

  app.post(
    "/api/auth/refresh",
    route(async (req) => {
      const body = parseBody(refreshBody, req.body);
      return services()
        .sessions.refresh(body.refreshToken)
        .catch((error: unknown) => {
          throw unauthorized(error);
        });
    }),
  );

  app.post(
    "/api/auth/logout",
    route(async (req) => {
      const body = parseBody(refreshBody, req.body);
      if (!(await services().sessions.logout(body.refreshToken)))
        throw new ApiError(401, RejectionCode.Unauthorized, "not a refresh token of this server");
      return { ok: true };
    }),
  );

  app.post(
    "/api/auth/logout-all",
    route(async (req) => {
      const me = await caller(req);
      await services().sessions.logoutAll(me.playerId);
      return { ok: true };
    }),
  );

  /**
   * Sets a password (and with it a login name), or changes one given the current password.
   * A change ends every other session: whoever knew the old password is logged out.
   */
  app.post(
    "/api/me/password",
    route(async (req) => {
      const me = await caller(req);
      const body = parseBody(passwordBody, req.body);
      const { accountStore, sessions } = services();
      const account = await accountStore.byId(me.playerId);
      if (!account) throw new ApiError(401, RejectionCode.Unauthorized, "the token's player does not exist");
      if (account.passwordHash) {
        const current = body.currentPassword ?? "";
        if (!current || !(await verifyPassword(current, account.passwordHash)).ok) throw invalidCredentials();
      }
      const login = loginName(body.login ?? account.login ?? account.name);
      await accountStore
        .setPassword(account.playerId, login, await hashPassword(body.password))
        .catch((error: unknown) => {
          throw error instanceof NameTakenError ? nameTaken(error) : error;
        });
      if (!account.passwordHash) return { player: { id: account.playerId, name: account.name }, login };
      await sessions.logoutAll(account.playerId);
      const renewed = await accountStore.byId(account.playerId);
      return { ...(await sessions.start(renewed ?? account)), login };
    }),
  );
}
