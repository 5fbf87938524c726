import { ErrorCode, matchMaker } from "@colyseus/core";
import { RejectionCode } from "@loom/shared";
import { joinRefusal } from "./membership.ts";

/**
 * What Colyseus's matchmaker answers over HTTP (`POST /matchmake/{method}/…`) in this process. A
 * universe's room is made only by `POST /api/universes/{id}/open`, which takes the universe's
 * lease first (Ownership.open); members then take a seat in it by id. `create`, `join` and
 * `joinOrCreate` would make or look for a room outside that path: refused, coded, before the
 * matchmaker sees them. So is `reconnect`, which hands a seat to whoever brings its token, with
 * no bearer token, and closes the seat's live connection: a lost connection comes back over the
 * room's WebSocket (the SDK's retries, UniverseRoom.onReconnect), or joins again by id.
 */
const SEAT_METHODS = ["joinById"];

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
          method === "reconnect"
            ? "a seat is not handed over by its reconnection token here: join the room again by id with your token"
            : `the matchmaker does not ${method} rooms here: open a universe with POST /api/universes/{id}/open, then join its room by id`,
        ),
      );
    return invoke(method, roomName, clientOptions, authOptions);
  };
}
