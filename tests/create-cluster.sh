#!/usr/bin/env bash
# Creates, in the emulator at $AWS_ENDPOINT_URL, what a pipeline expects to exist already: a
# VPC with two subnets in two Availability Zones and an EKS cluster on them, with access entries
# enabled, the Pod Identity agent add-on and the EFS CSI driver add-on (without them when
# --without-prerequisites is given).
# Usage: create-cluster.sh CLUSTER_NAME [--without-prerequisites]
set -euo pipefail
name=$1
prerequisites=$([ "${2:-}" = --without-prerequisites ] && echo no || echo yes)
region=${AWS_REGION:-us-east-1}
aws() { command aws --region "$region" --output text "$@"; }

vpc=$(aws ec2 create-vpc --cidr-block 10.42.0.0/16 --query Vpc.VpcId)
subnets=()
for zone in a b; do
  cidr="10.42.$([ "$zone" = a ] && echo 1 || echo 2).0/24"
  subnets+=("$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block "$cidr" \
    --availability-zone "$region$zone" --query Subnet.SubnetId)")
done
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
role=$(aws iam create-role --role-name "$name-cluster" --assume-role-policy-document "$trust" \
  --query Role.Arn)
mode=$([ "$prerequisites" = yes ] && echo API_AND_CONFIG_MAP || echo CONFIG_MAP)
aws eks create-cluster --name "$name" --role-arn "$role" --access-config "authenticationMode=$mode" \
  --resources-vpc-config "subnetIds=${subnets[0]},${subnets[1]}" >/dev/null
# The emulator settles CREATING -> ACTIVE on the first describe.
aws eks describe-cluster --name "$name" --query cluster.status >/dev/null
if [ "$prerequisites" = yes ]; then
  aws eks create-addon --cluster-name "$name" --addon-name eks-pod-identity-agent >/dev/null
  aws eks create-addon --cluster-name "$name" --addon-name aws-efs-csi-driver >/dev/null
fi
