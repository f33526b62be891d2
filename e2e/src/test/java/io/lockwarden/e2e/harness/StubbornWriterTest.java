package io.lockwarden.e2e.harness;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What makes the stubborn writer stubborn, on the real script: it outlives SIGTERM, opens a disk only under a token
 * and then never stops writing it, and overwrites what others append. Waits are on records, never on time.
 */
class StubbornWriterTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  @TempDir
  Path dir;

  @Test
  void sigtermSigintAndSighupDoNotStopItOnlySigkillDoes() {
    Path disk = file("a.img");
    try (StubbornWriter writer = StubbornWriter.start(dir.resolve("log"), "u1", tokens(disk + "=1"),
        disk.toString())) {
      awaitTail(disk, 3);
      for (String signal : List.of("TERM", "INT", "HUP")) {
        assertThat(Signals.send(signal, writer.pid())).as("SIG" + signal + " sent").isTrue();
      }
      int seen = tail(disk).size();

      awaitTail(disk, seen + 5);
      assertThat(writer.alive()).isTrue();
      assertThat(writer.kill()).isEqualTo(128 + 9);
    }
    assertThat(read(dir.resolve("log"))).contains("event=signal-ignored signal=SIGTERM",
        "event=signal-ignored signal=SIGINT", "event=signal-ignored signal=SIGHUP");
  }

  @Test
  void opensADiskOnlyOnceItHasATokenAndThenIgnoresUnplug() throws Exception {
    Path a = file("a.img");
    Path b = file("b.img");
    Path link = Files.createSymbolicLink(dir.resolve("b-link.img"), b.getFileName()); // the token names the real path
    Path tokensFile = dir.resolve("fencing-tokens");
    Files.writeString(tokensFile, b + "=1\n");
    try (StubbornWriter writer = StubbornWriter.start(dir.resolve("log"), "u1",
        Map.of("LOCKWARDEN_FENCING_TOKENS_FILE", tokensFile.toString()), a.toString(), link.toString())) {
      awaitTail(b, 5);
      assertThat(Files.size(a)).as("five rounds without a token for a.img").isZero();

      Files.writeString(tokensFile, a + "=2\n"); // b unplugged, a plugged
      awaitTail(a, 3);
      int seen = tail(b).size();
      awaitTail(b, seen + 5);
      assertThat(tail(b)).allMatch(r -> r.contains("\"epoch\":1,"), "still at the last epoch it saw");

      Files.writeString(tokensFile, b + "=4\n"); // b plugged again: a newer epoch, a unplugged
      Await.until("a record of b.img at epoch 4", WAIT,
          () -> tail(b).stream().anyMatch(r -> r.contains("\"epoch\":4,")));
      seen = tail(a).size();
      awaitTail(a, seen + 3);
      List<String> records = tail(a); // once: the writer goes on appending between two reads
      assertThat(records.get(records.size() - 1)).contains("\"epoch\":2,");
      assertThat(writer.alive()).isTrue();
    }
  }

  @Test
  void itOverwritesWhatAnotherProcessAppends() throws Exception {
    Path disk = file("a.img");
    try (StubbornWriter writer = StubbornWriter.start(dir.resolve("log"), "u1", tokens(disk + "=1"),
        disk.toString())) {
      awaitTail(disk, 3);
      Files.writeString(disk, "APPENDED-BY-ANOTHER-WRITER ".repeat(10) + "\n", StandardOpenOption.APPEND);

      Await.until("the appended line overwritten", WAIT, () -> !read(disk).contains("APPENDED"));
      assertThat(writer.alive()).isTrue();
    }
  }

  @Test
  void aLaterWriterReusesTheHeadSlotAndADemoWorkloadsFileGetsNone() throws Exception {
    Path disk = file("a.img");
    try (StubbornWriter first = StubbornWriter.start(dir.resolve("log"), "u1", tokens(disk + "=1"),
        disk.toString())) {
      awaitTail(disk, 3);
    }
    try (StubbornWriter second = StubbornWriter.start(dir.resolve("log"), "u2", tokens(disk + "=2"),
        disk.toString())) {
      Await.until("the second writer's head", WAIT, () -> head(disk).contains("\"uid\":\"u2\""));
      awaitTail(disk, tail(disk).size() + 3);
    }
    List<String> lines = Files.readAllLines(disk);
    assertThat(lines).filteredOn(l -> l.contains("\"head\":true")).singleElement().isEqualTo(lines.get(0));
    List<String> writers = tail(disk).stream().map(r -> r.contains("\"uid\":\"u1\"") ? "u1" : "u2").toList();
    assertThat(writers).as("the second writer starts where the first stopped").isSorted().contains("u1", "u2");

    Path demo = file("demo.img");
    String record = "{\"domain\":\"ns/d\",\"uid\":\"d\",\"node\":\"n\",\"pid\":1,\"disk\":\"x\",\"epoch\":1,\"seq\":1,"
        + "\"mono\":1}";
    Files.writeString(demo, record + "\n");
    try (StubbornWriter writer = StubbornWriter.start(dir.resolve("log"), "u1", tokens(demo + "=2"),
        demo.toString())) {
      Await.until("records after the demo's", WAIT, () -> lines(demo).size() >= 4);
    }
    assertThat(lines(demo).get(0)).isEqualTo(record);
    assertThat(lines(demo)).noneMatch(l -> l.contains("\"head\":true"));
  }

  private Path file(String name) {
    try {
      return Files.createFile(dir.resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, String> tokens(String tokens) {
    return Map.of("LOCKWARDEN_FENCING_TOKENS", tokens);
  }

  private static void awaitTail(Path disk, int records) {
    Await.until(records + " tail records in " + disk.getFileName(), WAIT, () -> tail(disk).size() >= records);
  }

  /** The whole tail records ("head":false) of the file, in file order. */
  private static List<String> tail(Path disk) {
    return lines(disk).stream().filter(l -> l.startsWith("{") && l.endsWith("\"head\":false}")).toList();
  }

  private static String head(Path disk) {
    List<String> lines = lines(disk);
    return lines.isEmpty() ? "" : lines.get(0);
  }

  private static List<String> lines(Path disk) {
    return read(disk).lines().toList();
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.ISO_8859_1); // any bytes: the file may be midway through a write
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
