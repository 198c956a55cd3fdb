/**
 * Turns the synthesized template's IAM documents into concrete JSON for an IAM evaluator: a
 * small CloudFormation intrinsic resolver (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select,
 * Fn::Split) that gives each resource the physical name CloudFormation would generate shape-wise
 * (its logical id) in a fixed account and region.
 */
import type { CfnResource, CfnTemplate } from './synth.ts';

export interface World {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
}

export const WORLD: World = { account: '111122223333', region: 'eu-west-1', partition: 'aws' };

/** The unique part of the stack id CloudFormation would give the stack in `WORLD`. */
export const WORLD_STACK_UUID = '51af3dc0-da77-11e4-872e-1234567db123';

export class CfnResolver {
  constructor(
    private readonly template: CfnTemplate,
    private readonly world: World = WORLD,
  ) {}

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attr] = arg as [string, string];
          return this.getAtt(id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number, unknown];
          return (this.resolve(list) as unknown[])[index];
        }
        case 'Fn::Split': {
          const [sep, source] = arg as [string, unknown];
          return String(this.resolve(source)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name in vars) return String(this.resolve(vars[name]));
            const [id, attr] = name.split('.');
            return String(attr ? this.getAtt(id!, attr) : this.ref(id!));
          });
        }
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  private resource(id: string): CfnResource {
    const r = this.template.Resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  }

  ref(id: string): string {
    const { account, region, partition } = this.world;
    switch (id) {
      case 'AWS::AccountId':
        return account;
      case 'AWS::Region':
        return region;
      case 'AWS::Partition':
        return partition;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'Custody';
      case 'AWS::StackId':
        return `arn:${partition}:cloudformation:${region}:${account}:stack/Custody/${WORLD_STACK_UUID}`;
    }
    const r = this.resource(id);
    switch (r.Type) {
      case 'AWS::IAM::ManagedPolicy':
        return `arn:${partition}:iam::${account}:policy/${id}`;
      case 'AWS::Logs::LogGroup':
        return this.logGroupName(id, r);
      case 'AWS::ApiGateway::Stage':
        return String(r.Properties.StageName);
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${id}`;
      case 'AWS::S3::Bucket':
        return id.toLowerCase();
      default:
        return id;
    }
  }

  getAtt(id: string, attr: string): string {
    const { account, region, partition } = this.world;
    const r = this.resource(id);
    if (attr !== 'Arn') return `${id}.${attr}`;
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return `arn:${partition}:iam::${account}:role/${id}`;
      case 'AWS::Lambda::Function':
        return `arn:${partition}:lambda:${region}:${account}:function:${id}`;
      case 'AWS::DynamoDB::Table':
        return `arn:${partition}:dynamodb:${region}:${account}:table/${id}`;
      case 'AWS::Logs::LogGroup':
        return `arn:${partition}:logs:${region}:${account}:log-group:${this.logGroupName(id, r)}:*`;
      case 'AWS::KMS::Key':
        return `arn:${partition}:kms:${region}:${account}:key/${id}`;
      case 'AWS::SQS::Queue':
        return `arn:${partition}:sqs:${region}:${account}:${id}`;
      case 'AWS::S3::Bucket':
        return `arn:${partition}:s3:::${id.toLowerCase()}`;
      default:
        throw new Error(`no ARN shape for ${r.Type}`);
    }
  }

  private logGroupName(id: string, r: CfnResource): string {
    const name = r.Properties.LogGroupName;
    return name === undefined ? id : String(this.resolve(name));
  }

  /** The ARN of a role session, as the caller of a request made with assumed credentials. */
  sessionArn(roleId: string, session = 'session'): string {
    return `arn:${this.world.partition}:sts::${this.world.account}:assumed-role/${roleId}/${session}`;
  }
}
