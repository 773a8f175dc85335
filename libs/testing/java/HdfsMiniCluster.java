import java.io.File;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * The HDFS peer of Ganglion's tests: Hadoop's MiniDFSCluster (one NameNode, one DataNode) with
 * WebHDFS on 127.0.0.1:<port>, every other port ephemeral on loopback, permissions off.
 * Usage: java HdfsMiniCluster.java <base directory> <NameNode HTTP port>
 */
public class HdfsMiniCluster {
  public static void main(String[] args) throws Exception {
    File base = new File(args[0]);
    int httpPort = Integer.parseInt(args[1]);
    Configuration conf = new Configuration();
    conf.set("dfs.webhdfs.enabled", "true");
    conf.set("dfs.permissions.enabled", "false");
    conf.set("hadoop.security.authentication", "simple");
    conf.set("dfs.namenode.http-address", "127.0.0.1:" + httpPort);
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf, base)
            .nameNodeHttpPort(httpPort)
            .numDataNodes(1)
            .format(true)
            .build();
    cluster.waitActive();
    Runtime.getRuntime().addShutdownHook(new Thread(cluster::shutdown));
    System.out.println("GANGLION-HDFS-READY");
    System.out.flush();
    Thread.currentThread().join();
  }
}
