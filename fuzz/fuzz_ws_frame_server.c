/* libFuzzer target: the WebSocket frame decoder in the server role (see fuzz_ws_frame.h). */
#define FUZZ_WS_ROLE SW_WS_ROLE_SERVER
#include "fuzz_ws_frame.h"
