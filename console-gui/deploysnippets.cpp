#include "deploysnippets.h"

namespace Swamp::Console {

QList<DeploySnippet> DeploySnippets::all(const QString &url, const QString &token)
{
    // The token is "<name>.<hex>" and the URL is redacted (scheme, host, port): neither needs
    // shell or YAML quoting.
    const QString ssh =
        QStringLiteral("ssh worker-host 'swamp worker connect %1 --token %2 --cache-dir /var/lib/swamp-worker'\n")
            .arg(url, token);

    const QString container = QStringLiteral(
        "docker run -d swamp-worker \\\n"
        "  swamp worker connect %1 \\\n"
        "  --token %2 \\\n"
        "  --cache-dir /data\n").arg(url, token);

    const QString kubernetes = QStringLiteral(
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        "  name: swamp-worker-token\n"
        "type: Opaque\n"
        "stringData:\n"
        "  token: %2\n"
        "---\n"
        "apiVersion: batch/v1\n"
        "kind: Job\n"
        "metadata:\n"
        "  name: swamp-worker\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: worker\n"
        "          image: swamp-worker:latest\n"
        "          command:\n"
        "            - swamp\n"
        "            - worker\n"
        "            - connect\n"
        "            - %1\n"
        "            - --token\n"
        "            - $(WORKER_TOKEN)\n"
        "            - --cache-dir\n"
        "            - /data\n"
        "          env:\n"
        "            - name: WORKER_TOKEN\n"
        "              valueFrom:\n"
        "                secretKeyRef:\n"
        "                  name: swamp-worker-token\n"
        "                  key: token\n"
        "          volumeMounts:\n"
        "            - name: cache\n"
        "              mountPath: /data\n"
        "      volumes:\n"
        "        - name: cache\n"
        "          emptyDir: {}\n"
        "      restartPolicy: OnFailure\n").arg(url, token);

    const QString githubActions = QStringLiteral(
        "# %3\n"
        "#   gh secret set SWAMP_WORKER_TOKEN --body '%2'\n"
        "- name: Connect Swamp worker\n"
        "  run: |\n"
        "    swamp worker connect %1 \\\n"
        "      --token ${{ secrets.SWAMP_WORKER_TOKEN }} \\\n"
        "      --cache-dir /tmp/swamp-worker\n")
            .arg(url, token, tr("Store the token as a repository secret first:"));

    const QString cloudInit = QStringLiteral(
        "#cloud-config\n"
        "runcmd:\n"
        "  - %3\n"
        "  - swamp worker connect %1 --token %2 --cache-dir /var/lib/swamp-worker\n")
            .arg(url, token, QStringLiteral("apt-get install -y swamp"));

    return {
        {QStringLiteral("ssh"), tr("SSH"), ssh},
        {QStringLiteral("container"), tr("Container"), container},
        {QStringLiteral("kubernetes"), tr("Kubernetes Job"), kubernetes},
        {QStringLiteral("github-actions"), tr("GitHub Actions"), githubActions},
        {QStringLiteral("cloud-init"), tr("cloud-init"), cloudInit},
    };
}

} // namespace Swamp::Console
