import { ErrorCode, matchMaker } from "@colyseus/core";
import { RejectionCode } from "@loom/shared";
import { joinRefusal } from "./membership.ts";

/**
 * What Colyseus's matchmaker answers over HTTP (`POST /matchmake/{method}/…`) in this process. A
 * universe's room is made only by `POST /api/universes/{id}/open`, which takes the universe's
 * lease first (Ownership.open); members then take a seat in it by id and come back to it after a
 * dropped connection. `create`, `join` and `joinOrCreate` would make or look for a room outside
 * that path: refused, coded, before the matchmaker sees them.
 */
const SEAT_METHODS = ["joinById", "reconnect"];

export function installSeatMethods(): void {
  const { controller } = matchMaker;
  const invoke = controller.invokeMethod.bind(controller);
  controller.exposedMethods = [...SEAT_METHODS];
  controller.invokeMethod = (method, roomName, clientOptions, authOptions) => {
    if (!SEAT_METHODS.includes(method))
      return Promise.reject(
        joinRefusal(
          ErrorCode.MATCHMAKE_NO_HANDLER,
          RejectionCode.NotAllowed,
          `the matchmaker does not ${method} rooms here: open a universe with POST /api/universes/{id}/open, then join its room by id`,
        ),
      );
    return invoke(method, roomName, clientOptions, authOptions);
  };
}
