import type { Application } from "express";
import { API, RejectionCode } from "@loom/shared";
import { services } from "../services.ts";
import { ApiError, caller, parseBody, route } from "./http.ts";
import { NameTakenError } from "../auth/account-store.ts";
import { loginName } from "../auth/login-name.ts";
import { burnPasswordCheck, hashPassword, verifyPassword } from "../auth/passwords.ts";
import { AuthError } from "../auth/tokens.ts";
import { OutdatedProofError } from "../auth/sessions.ts";

function invalidCredentials(): ApiError {
  return new ApiError(401, RejectionCode.InvalidCredentials, "wrong name or password");
}

/** A login or a change checked against a password (or sessions) that changed meanwhile. */
function outdated(): ApiError {
  return new ApiError(
    401,
    RejectionCode.InvalidCredentials,
    "the password was changed, or every session ended, while this was checked: log in again",
  );
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
    API.register.path,
    route(async (req, res) => {
      const { limits, accountStore, sessions, newId, clock } = services();
      limits.register(req);
      const body = parseBody(API.register.body, req.body);
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
    API.login.path,
    route(async (req) => {
      const { limits, accountStore, sessions } = services();
      const body = parseBody(API.login.body, req.body);
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
        await accountStore.setPassword(
          account.playerId,
          login,
          await hashPassword(body.password),
          account.passwordHash,
        );
      // a password change or a log-out-everywhere while the password was checked ends this login too
      return sessions.start(account).catch((error: unknown) => {
        throw error instanceof OutdatedProofError ? outdated() : error;
      });
    }),
  );

  app.post(
    API.refresh.path,
    route(async (req) => {
      const body = parseBody(API.refresh.body, req.body);
      return services()
        .sessions.refresh(body.refreshToken)
        .catch((error: unknown) => {
          throw unauthorized(error);
        });
    }),
  );

  app.post(
    API.logout.path,
    route(async (req) => {
      const body = parseBody(API.logout.body, req.body);
      if (!(await services().sessions.logout(body.refreshToken)))
        throw new ApiError(401, RejectionCode.Unauthorized, "not a refresh token of this server");
      return { ok: true };
    }),
  );

  app.post(
    API.logoutAll.path,
    route(async (req) => {
      const me = await caller(req);
      await services().sessions.logoutAll(me.playerId);
      return { ok: true };
    }),
  );

  /**
   * Sets a password (and with it a login name), or changes one given the current password.
   * Either ends every earlier session, the caller's included, and answers with a new one:
   * whoever knew the old password is logged out, and a token taken before the first password
   * does not outlive it.
   */
  app.post(
    API.setPassword.path,
    route(async (req) => {
      const me = await caller(req);
      const body = parseBody(API.setPassword.body, req.body);
      const { accountStore, sessions } = services();
      const account = await accountStore.byId(me.playerId);
      if (!account) throw new ApiError(401, RejectionCode.Unauthorized, "the token's player does not exist");
      const login = loginName(body.login ?? account.login ?? account.name);
      if (account.passwordHash) {
        if (body.currentPassword === undefined)
          throw new ApiError(
            400,
            RejectionCode.InvalidMessage,
            "currentPassword: required to change a password (this account has one)",
          );
        // a stolen access token must not guess the password faster than a login may
        services().limits.login(req, account.login ?? loginName(account.name));
        if (!(await verifyPassword(body.currentPassword, account.passwordHash)).ok)
          throw invalidCredentials();
      } else {
        // a first password takes a login name, as a registration does: at its rate, so that
        // it is no faster way to learn which names are taken
        services().limits.register(req);
      }
      const holder = login === account.login ? null : await accountStore.byLogin(login);
      if (holder && holder.playerId !== account.playerId) throw nameTaken(new NameTakenError(login));
      const set = await accountStore
        .setPassword(account.playerId, login, await hashPassword(body.password), account.passwordHash)
        .catch((error: unknown) => {
          throw error instanceof NameTakenError ? nameTaken(error) : error;
        });
      // another change came first: this one was made against a password that is no more
      if (!set) throw outdated();
      await sessions.logoutAll(account.playerId);
      const renewed = await accountStore.byId(account.playerId);
      return {
        ...(await sessions.start(renewed ?? account).catch((error: unknown) => {
          throw error instanceof OutdatedProofError ? outdated() : error;
        })),
        login,
      };
    }),
  );
}
