import { maxHeaderSize, type Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import { RejectionCode } from "@loom/shared";

/**
 * Requests that never reach Express, refused by Node's parser: answered as the API answers, with a
 * coded JSON body (Node's own answers have none), then the connection is closed, as Node does.
 */
export function answerClientErrors(http: HttpServer): void {
  http.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
      ?.headersSent;
    if (error.code === "ECONNRESET" || !socket.writable || started) {
      socket.destroy();
      return;
    }
    const [status, code, message] = refusal(error);
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

function refusal(error: NodeJS.ErrnoException): [string, RejectionCode, string] {
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return [
        "431 Request Header Fields Too Large",
        RejectionCode.PayloadTooLarge,
        `the request's headers are over the server's limit of ${maxHeaderSize} bytes`,
      ];
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return ["408 Request Timeout", RejectionCode.InvalidMessage, "the request did not arrive in time"];
    default:
      return ["400 Bad Request", RejectionCode.InvalidMessage, "the request is not well-formed HTTP/1.1"];
  }
}
