import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Lints a chart with `helm lint --strict` and renders it with `helm template -f <values>`, through the Helm Go
 * library (helm-java), so no helm binary and no cluster are needed.
 *
 * Usage: java -cp 'libs/*' HelmCheck.java <chart-to-lint> <chart-to-render> <values-file> <rendered-output.yaml>
 *
 * Both charts are the working copies that prepare-charts.js makes: helm-java's lint takes no values file (so the
 * lint copy has the profile merged into values.yaml) and its template drops hook resources (so the render copy
 * has its hook annotations renamed). Rendering applies the profile file with `-f` semantics.
 */
public class HelmCheck {
  /** The Kubernetes version whose OpenAPI schemas kubernetes-models@4.5.1 carries; helm-java would assume 1.20. */
  static final String KUBE_VERSION = "v1.27.1";

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: HelmCheck <chart-to-lint> <chart-to-render> <values-file> <output.yaml>");
      System.exit(2);
    }
    Path lintChart = Paths.get(args[0]);
    Path chart = Paths.get(args[1]);
    Path values = Paths.get(args[2]);
    Path output = Paths.get(args[3]);

    LintResult lint = new Helm(lintChart).lint().strict().call();
    lint.getMessages().forEach(message -> System.err.println("lint: " + message));
    if (lint.isFailed()) {
      System.err.println("helm lint --strict failed for " + values.getFileName());
      System.exit(1);
    }

    String rendered;
    try {
      rendered = new Helm(chart).template()
          .withName("upm")
          .withNamespace("upm")
          .withKubeVersion(KUBE_VERSION)
          .withValuesFile(values)
          .call();
    } catch (RuntimeException e) {
      System.err.println("helm template failed for " + values.getFileName() + ": " + e.getMessage());
      System.exit(1);
      return;
    }
    Files.writeString(output, rendered);
  }
}
