# The fleet in Yandex Cloud: vm_count compute instances whose cloud-init installs the release
# (install.sh --local) and starts fraudstream-agent@1..agents_per_vm, and, when kafka_brokers is
# empty, a Managed Service for Apache Kafka cluster with the project's topics. Credentials come
# from the provider's environment (YC_TOKEN or YC_SERVICE_ACCOUNT_KEY_FILE, YC_CLOUD_ID), never
# from this configuration. See ../README.md for what can and cannot be checked on this machine.

terraform {
  required_version = ">= 1.6"
  required_providers {
    yandex = {
      source  = "yandex-cloud/yandex"
      version = "~> 0.150"
    }
  }
}

provider "yandex" {
  folder_id = var.folder_id
  zone      = var.zone
}

variable "folder_id" {
  description = "The folder the fleet is created in."
  type        = string
}

variable "zone" {
  type    = string
  default = "ru-central1-a"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "fraudstream"
}

variable "cidr" {
  description = "The fleet's subnet."
  type        = string
  default     = "10.130.0.0/24"
}

variable "image_family" {
  description = "Boot image (any systemd Linux with glibc; the release is self-contained)."
  type        = string
  default     = "debian-12"
}

variable "release_url" {
  description = "Where the VMs download the release tarball (deno task release), e.g. a pre-signed Object Storage URL."
  type        = string
}

variable "release_sha256" {
  description = "sha256 of the release tarball; cloud-init refuses any other file."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.release_sha256))
    error_message = "release_sha256: expected 64 hex digits."
  }
}

variable "ssh_public_key" {
  description = "Public key for root's ssh login (the DAG's ssh connection holds the private key)."
  type        = string
}

variable "public_ip" {
  description = "Give every VM a public address (when the experiment runs outside the cloud network)."
  type        = bool
  default     = true
}

variable "kafka_partitions" {
  description = "Partitions of the transactions topic on the managed Kafka cluster."
  type        = number
  default     = 6
}

variable "kafka_password_secret" {
  description = "Lockbox secret holding the managed Kafka user's password, as SECRET_ID/KEY (only when kafka_brokers is empty)."
  type        = string
  default     = ""
}

locals {
  create_kafka = var.kafka_brokers == ""
  # Yandex instances have whole cores (at least 2) and a guaranteed share of each: a fractional
  # vcpu becomes 2 cores at the nearest share that gives at least that much CPU.
  cores         = max(2, ceil(var.vcpu))
  core_fraction = var.vcpu >= 2 ? 100 : [for f in [5, 20, 50, 100] : f if f * local.cores / 100 >= var.vcpu][0]
  memory_gb     = ceil(var.memory_mb / 1024)
  vm_names      = [for i in range(1, var.vm_count + 1) : "vm${i}"]
  kafka_hosts   = local.create_kafka ? [for h in yandex_mdb_kafka_cluster.kafka[0].host : "${h.name}:9091" if h.role == "KAFKA"] : []
  brokers       = local.create_kafka ? join(",", local.kafka_hosts) : var.kafka_brokers
  kafka_secrets = local.create_kafka ? { FRAUDSTREAM_SASL_PASSWORD = "lockbox:${var.kafka_password_secret}" } : {}
  agent_env = merge(
    local.create_kafka ? {
      FRAUDSTREAM_SECURITY_PROTOCOL = "sasl_ssl"
      FRAUDSTREAM_SASL_MECHANISM    = "scram-sha-512"
      FRAUDSTREAM_SASL_USERNAME     = "fraudstream"
      FRAUDSTREAM_SSL_CA_FILE       = "/usr/local/share/ca-certificates/Yandex/RootCA.crt"
    } : {},
  )
}

data "yandex_compute_image" "os" {
  family = var.image_family
}

resource "yandex_vpc_network" "fleet" {
  name = "${var.name}-net"
}

resource "yandex_vpc_subnet" "fleet" {
  name           = "${var.name}-subnet"
  zone           = var.zone
  network_id     = yandex_vpc_network.fleet.id
  v4_cidr_blocks = [var.cidr]
}

# The VMs read their secrets from Lockbox at boot with this account's token from the metadata
# service, so secret values never pass through this configuration, its state or the user data.
resource "yandex_iam_service_account" "agents" {
  name = "${var.name}-agents"
}

resource "yandex_resourcemanager_folder_iam_member" "agents_lockbox" {
  folder_id = var.folder_id
  role      = "lockbox.payloadViewer"
  member    = "serviceAccount:${yandex_iam_service_account.agents.id}"
}

resource "yandex_compute_instance" "vm" {
  count              = var.vm_count
  name               = "${var.name}-${local.vm_names[count.index]}"
  hostname           = local.vm_names[count.index]
  platform_id        = "standard-v3"
  service_account_id = yandex_iam_service_account.agents.id

  resources {
    cores         = local.cores
    core_fraction = local.core_fraction
    memory        = local.memory_gb
  }

  boot_disk {
    initialize_params {
      image_id = data.yandex_compute_image.os.id
      size     = 10
    }
  }

  network_interface {
    subnet_id = yandex_vpc_subnet.fleet.id
    nat       = var.public_ip
  }

  metadata = {
    user-data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
      ssh_public_key = var.ssh_public_key
      release_url    = var.release_url
      release_sha256 = var.release_sha256
      agents         = var.agents_per_vm
      base_port      = var.base_port
      brokers        = local.brokers
      agent_env      = local.agent_env
      secrets        = merge(var.secrets, local.kafka_secrets)
    })
  }

  depends_on = [yandex_resourcemanager_folder_iam_member.agents_lockbox]
}

data "yandex_lockbox_secret_version" "kafka_password" {
  count     = local.create_kafka ? 1 : 0
  secret_id = split("/", var.kafka_password_secret)[0]
}

resource "yandex_mdb_kafka_cluster" "kafka" {
  count       = local.create_kafka ? 1 : 0
  name        = "${var.name}-kafka"
  environment = "PRODUCTION"
  network_id  = yandex_vpc_network.fleet.id
  subnet_ids  = [yandex_vpc_subnet.fleet.id]

  config {
    version       = "3.6"
    brokers_count = 1
    zones         = [var.zone]
    kafka {
      resources {
        resource_preset_id = "s3-c2-m8"
        disk_type_id       = "network-ssd"
        disk_size          = 64
      }
    }
  }
}

resource "yandex_mdb_kafka_topic" "topics" {
  for_each = local.create_kafka ? {
    "transactions"     = var.kafka_partitions
    "transactions.dlq" = 1
    "predictions"      = var.kafka_partitions
    "labels"           = var.kafka_partitions
  } : {}
  cluster_id         = yandex_mdb_kafka_cluster.kafka[0].id
  name               = each.key
  partitions         = each.value
  replication_factor = 1
}

# The Kafka user's password is the one place a secret value reaches Terraform (the managed
# cluster's API takes it as a value): it comes from Lockbox at apply time and is marked
# sensitive; the VMs read the same secret themselves.
resource "yandex_mdb_kafka_user" "agents" {
  count      = local.create_kafka ? 1 : 0
  cluster_id = yandex_mdb_kafka_cluster.kafka[0].id
  name       = "fraudstream"
  password = sensitive([
    for e in data.yandex_lockbox_secret_version.kafka_password[0].entries : e.text_value
    if e.key == split("/", var.kafka_password_secret)[1]
  ][0])

  dynamic "permission" {
    for_each = toset(["ACCESS_ROLE_CONSUMER", "ACCESS_ROLE_PRODUCER"])
    content {
      topic_name = "*"
      role       = permission.value
    }
  }
}

module "fleet" {
  source        = "../modules/fleet"
  vm_names      = local.vm_names
  vm_addresses  = [for vm in yandex_compute_instance.vm : var.public_ip ? vm.network_interface[0].nat_ip_address : vm.network_interface[0].ip_address]
  agents_per_vm = var.agents_per_vm
  base_port     = var.base_port
  kafka_brokers = local.brokers
}

output "vms" {
  description = "VM name -> address (ssh root@ADDRESS)."
  value       = module.fleet.vms
}

output "stats_urls" {
  value = module.fleet.stats_urls
}

output "kafka_brokers" {
  value = module.fleet.kafka_brokers
}

output "agents_per_vm" {
  value = var.agents_per_vm
}

output "summary" {
  value = module.fleet.summary
}

output "agent_env" {
  description = "Settings install.sh gives every agent besides the brokers (no secret values)."
  value       = local.agent_env
}
