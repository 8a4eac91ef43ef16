// A small Flink batch job for the local cluster's tests: sums 1..n at parallelism 2, slowly
// enough (sleep per element) that a TaskManager can be killed while it runs. The client
// submits it over the REST API (a remote environment) and prints "sum=<value>" at the end.
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

public class SlowSum {
  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    String jar = args[2];
    long n = Long.parseLong(args[3]);
    long sleepMillis = Long.parseLong(args[4]);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(host, port, jar);
    env.setRuntimeMode(RuntimeExecutionMode.BATCH);
    env.setParallelism(2);
    MapFunction<Long, Long> slow = value -> {
      Thread.sleep(sleepMillis);
      return value;
    };
    long sum = 0;
    try (CloseableIterator<Long> partial = env.fromSequence(1, n).name("numbers")
        .map(slow).returns(Types.LONG).name("slow-identity")
        .keyBy(value -> value % 2).reduce(Long::sum).returns(Types.LONG).name("sum-by-parity")
        .executeAndCollect("slow-sum")) {
      while (partial.hasNext()) {
        sum += partial.next();
      }
    }
    System.out.println("sum=" + sum);
  }
}
