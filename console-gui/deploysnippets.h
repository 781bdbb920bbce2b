#pragma once

#include <QCoreApplication>
#include <QList>
#include <QString>

namespace Swamp::Console {

// The five deploy recipes of the operations guide (SSH, container, Kubernetes Job with the token
// in a Secret, GitHub Actions steps, cloud-init), filled with the URL workers dial (the one the
// orchestrator advertises), a token and, for the recipes that install swamp on a fresh machine,
// the URL of the .deb (docs/operations.md, "Deploy recipes"). Each works as pasted once the
// machine's name (SSH) or the image (container, Kubernetes: deploy/docker/Dockerfile) exists.
// Not a widget: it belongs in core as soon as the CLI prints snippets too.
struct DeploySnippet
{
    QString key;   // "ssh", "container", "kubernetes", "github-actions", "cloud-init"
    QString title; // translated
    QString text;
    // The shell the snippet runs (the text itself, cloud-init's runcmd, the Actions run blocks);
    // empty for Kubernetes. For `bash -n`.
    QString shell;
    // It installs swamp and so needs the package URL; without one it says so instead.
    bool needsPackage = false;
};

struct DeploySnippets
{
    Q_DECLARE_TR_FUNCTIONS(DeploySnippets)

public:
    // `packageUrl` may be empty: the snippets that need it then say where to enter it.
    static QList<DeploySnippet> all(const QString &workerUrl, const QString &token, const QString &packageUrl);
    // Empty when `url` can be a package URL in the snippets (http or https, no quote or
    // space); else why not.
    static QString checkPackageUrl(const QString &url);
};

} // namespace Swamp::Console
