#pragma once

#include <QCoreApplication>
#include <QList>
#include <QString>

namespace Swamp::Console {

// The five deploy recipes of the operations guide (SSH, container, Kubernetes Job with the token
// in a Secret, GitHub Actions step, cloud-init), filled with an orchestrator URL and a token.
// Not a widget: it belongs in core as soon as the CLI prints snippets too.
struct DeploySnippet
{
    QString key;   // "ssh", "container", "kubernetes", "github-actions", "cloud-init"
    QString title; // translated
    QString text;
};

struct DeploySnippets
{
    Q_DECLARE_TR_FUNCTIONS(DeploySnippets)

public:
    static QList<DeploySnippet> all(const QString &orchestratorUrl, const QString &token);
};

} // namespace Swamp::Console
