import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/** App is the java fixture: an HTTP server on 127.0.0.1:$PORT (default 8085). */
public class App {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8085"));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", exchange -> {
            String body;
            try {
                byte[] sum = MessageDigest.getInstance("SHA-256").digest("pare".getBytes(StandardCharsets.UTF_8));
                body = "java ok sha256(pare)=" + HexFormat.of().formatHex(sum) + "\n";
            } catch (Exception e) {
                body = "error: " + e + "\n";
            }
            byte[] out = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            exchange.sendResponseHeaders(200, out.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(out);
            }
        });
        server.start();
        System.out.println("java listening on 127.0.0.1:" + port);
    }
}
